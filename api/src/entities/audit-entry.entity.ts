// One line of the append-only audit log: who did what, to which tunnel, when, from where.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "audit_entries" })
@Index("audit_entries_tunnel_id_idx", ["tunnelId", "seq"])
@Index("audit_entries_at_seq_idx", ["at", "seq"])
export class AuditEntryEntity {
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  /** Insertion order: timestamps of one transaction can be equal. */
  @Column({
    type: "bigint",
    generated: "identity",
    generatedIdentity: "ALWAYS",
    insert: false,
    select: false,
  })
  seq!: string;

  @Column({ name: "tunnel_id", type: "uuid", nullable: true })
  tunnelId!: string | null;

  /** `engineer:<name>`, `device`, `system` or `cli`. */
  @Column({ type: "text" })
  actor!: string;

  @Column({ type: "text" })
  action!: string;

  @Column({ type: "text", nullable: true })
  detail!: string | null;

  @Column({ name: "client_address", type: "text", nullable: true })
  clientAddress!: string | null;

  @Column({ type: "timestamptz" })
  at!: Date;
}
