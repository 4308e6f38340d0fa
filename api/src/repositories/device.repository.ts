// The fleet: each device's identity, whose it is, when it last asked the api,
// and its live tunnel.
import { Injectable } from "@nestjs/common";
import { InjectRepository } from "@nestjs/typeorm";
import { TunnelState, stateRank } from "@support-tunnel/common";
import { In, IsNull, type Repository } from "typeorm";
import { DeviceEntity } from "../entities/device.entity";
import { TunnelEntity } from "../entities/tunnel.entity";

const COMPLETED = stateRank(TunnelState.Completed);

export interface DeviceRow {
  device: DeviceEntity;
  liveTunnel: string | null;
}

@Injectable()
export class DeviceRepository {
  constructor(@InjectRepository(DeviceEntity) private readonly devices: Repository<DeviceEntity>) {}

  /**
   * Records a request of the device: creates it, or refreshes its hostname and
   * last request. False when the identity belongs to another customer's device:
   * an identity is the device's claim, and a claim must not move a device of one
   * customer to another (or to none).
   */
  async seen(
    id: string,
    customerId: string | null,
    hostname: string | null,
    now: Date,
  ): Promise<boolean> {
    // One statement, so two requests of a new device at once make one row.
    const rows: { id: string }[] = await this.devices.manager.query(
      `INSERT INTO "devices" ("id", "customer_id", "hostname", "first_seen_at", "last_request_at")
       VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT ("id") DO UPDATE
         SET "customer_id" = COALESCE("devices"."customer_id", EXCLUDED."customer_id"),
             "hostname" = COALESCE(EXCLUDED."hostname", "devices"."hostname"),
             "last_request_at" = EXCLUDED."last_request_at"
         WHERE "devices"."customer_id" IS NULL OR "devices"."customer_id" = EXCLUDED."customer_id"
       RETURNING "id"`,
      [id, customerId, hostname, now],
    );
    return rows.length > 0;
  }

  /**
   * Many devices' last requests in one statement. Never moves one back in time
   * (another replica may have written a later one), and skips unchanged rows.
   */
  async writeLastRequests(ids: string[], ats: Date[]): Promise<void> {
    await this.devices.manager.query(
      `UPDATE "devices" AS d SET "last_request_at" = v.at
       FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at)
       WHERE d."id" = v.id AND d."last_request_at" < v.at`,
      [ids, ats],
    );
  }

  /** Devices of these customers and of none (all when undefined), most recent first, with their live tunnel. */
  async list(customerIds: string[] | undefined, now: Date): Promise<DeviceRow[]> {
    const found = await this.devices.find({
      where:
        customerIds === undefined
          ? {}
          : [
              { customerId: IsNull() },
              ...(customerIds.length ? [{ customerId: In(customerIds) }] : []),
            ],
      order: { lastRequestAt: "DESC" },
      take: 1000,
    });
    if (found.length === 0) return [];
    const live = await this.devices.manager
      .createQueryBuilder(TunnelEntity, "t")
      .select(["t.id", "t.deviceId", "t.createdAt"])
      .where({ deviceId: In(found.map((d) => d.id)) })
      .andWhere("t.state < :completed AND t.expires_at > :now", { completed: COMPLETED, now })
      .orderBy("t.created_at", "DESC")
      .getMany();
    return found.map((device) => ({
      device,
      liveTunnel: live.find((t) => t.deviceId === device.id)?.id ?? null,
    }));
  }
}
