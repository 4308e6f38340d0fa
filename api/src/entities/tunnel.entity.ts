// A support tunnel request and everything the api knows about it. Only public
// keys, the sealed approval and token hashes are stored: never a private key or PSK.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "tunnels" })
@Index("tunnels_state_expires_at_idx", ["state", "expiresAt"])
@Index("tunnels_customer_id_idx", ["customerId"])
@Index("tunnels_device_id_idx", ["deviceId"])
export class TunnelEntity {
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  /** Rank of the state (see stateRank in common): transitions only ever increase it. */
  @Column({ type: "integer" })
  state!: number;

  @Column({ type: "text" })
  network!: string;

  @Column({ type: "text", nullable: true })
  hostname!: string | null;

  @Column({ type: "text", nullable: true })
  description!: string | null;

  /** The support case the customer named. */
  @Column({ type: "text", nullable: true })
  ticket!: string | null;

  /** The customer allows no approval before this time (their `--start`). */
  @Column({ name: "not_before", type: "timestamptz", nullable: true })
  notBefore!: Date | null;

  /** Only these engineers may approve; null: any operator. */
  @Column({ name: "allowed_engineers", type: "text", array: true, nullable: true })
  allowedEngineers!: string[] | null;

  /** Device ports support may forward (the customer's `--allow-port`); empty: none but SSH. */
  @Column({ name: "allowed_ports", type: "integer", array: true, default: () => "'{}'" })
  allowedPorts!: number[];

  /** Whose device asked (its enrollment secret said so); null: no customer. */
  @Column({ name: "customer_id", type: "uuid", nullable: true })
  customerId!: string | null;

  /** The device's stable identity, when it sent one. */
  @Column({ name: "device_id", type: "uuid", nullable: true })
  deviceId!: string | null;

  @Column({ name: "device_wg_public_key", type: "text" })
  deviceWgPublicKey!: string;

  /** SHA-256 of the device token, hex. */
  @Index("tunnels_device_token_hash_key", { unique: true })
  @Column({ name: "device_token_hash", type: "text" })
  deviceTokenHash!: string;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;

  @Column({ name: "updated_at", type: "timestamptz" })
  updatedAt!: Date;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt!: Date;

  @Column({ name: "server_instance_id", type: "text", nullable: true })
  serverInstanceId!: string | null;

  @Column({ name: "server_provider", type: "text", nullable: true })
  serverProvider!: string | null;

  @Column({ name: "server_public_ip", type: "text", nullable: true })
  serverPublicIp!: string | null;

  @Column({ name: "server_wg_port", type: "integer", nullable: true })
  serverWgPort!: number | null;

  @Column({ name: "server_wg_public_key", type: "text", nullable: true })
  serverWgPublicKey!: string | null;

  /** Sealed for the device; the api can read neither its content nor forge one. */
  @Column({ type: "text", nullable: true })
  approval!: string | null;

  /** Why the device refused the last approval (an ApprovalRefusalKind); null once approved again. */
  @Column({ name: "refusal_kind", type: "text", nullable: true })
  refusalKind!: string | null;

  @Column({ name: "refused_at", type: "timestamptz", nullable: true })
  refusedAt!: Date | null;

  @Column({ name: "approved_by", type: "text", nullable: true })
  approvedBy!: string | null;

  @Column({ name: "support_user", type: "text", nullable: true })
  supportUser!: string | null;

  @Column({ name: "stopped_by", type: "text", nullable: true })
  stoppedBy!: string | null;

  @Column({ name: "stop_reason", type: "text", nullable: true })
  stopReason!: string | null;

  @Column({ name: "ended_at", type: "timestamptz", nullable: true })
  endedAt!: Date | null;
}
