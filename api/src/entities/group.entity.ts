// A group of engineers: its members, with their delegated roles, serve its customers.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "groups" })
export class GroupEntity {
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  @Index("groups_name_key", { unique: true })
  @Column({ type: "text" })
  name!: string;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
