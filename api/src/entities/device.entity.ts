// A device as engineers see it in the fleet: its stable identity (kept in its
// state, sent with each request), whose it is, and when it last asked the api.
// The identity is the device's claim: it is scoped to its customer, so a device
// of one customer cannot take the place of another's.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "devices" })
@Index("devices_customer_id_idx", ["customerId"])
export class DeviceEntity {
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  /** Null: a device of no customer (the global enrollment secret). */
  @Column({ name: "customer_id", type: "uuid", nullable: true })
  customerId!: string | null;

  @Column({ type: "text", nullable: true })
  hostname!: string | null;

  @Column({ name: "first_seen_at", type: "timestamptz" })
  firstSeenAt!: Date;

  @Column({ name: "last_request_at", type: "timestamptz" })
  lastRequestAt!: Date;
}
