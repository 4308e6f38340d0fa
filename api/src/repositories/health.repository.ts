// The database round trip behind /readyz.
import { Injectable } from "@nestjs/common";
import { DataSource } from "typeorm";

@Injectable()
export class HealthRepository {
  constructor(private readonly dataSource: DataSource) {}

  async ping(): Promise<void> {
    // A query on no table, which TypeORM's builders cannot say.
    await this.dataSource.query("SELECT 1");
  }
}
