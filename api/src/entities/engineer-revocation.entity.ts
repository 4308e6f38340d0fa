// An engineer who was revoked: their row in `engineers` is deleted (the token
// and every membership go with it), this keeps who they were for admins' lists.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "engineer_revocations" })
@Index("engineer_revocations_revoked_at_idx", ["revokedAt"])
export class EngineerRevocationEntity {
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  @Column({ type: "text" })
  name!: string;

  /** The role they had when revoked. */
  @Column({ type: "text" })
  role!: string;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;

  @Column({ name: "created_by", type: "text", nullable: true })
  createdBy!: string | null;

  @Column({ name: "revoked_at", type: "timestamptz" })
  revokedAt!: Date;

  /** As the audit log names actors: `engineer:<name>` or `cli`. */
  @Column({ name: "revoked_by", type: "text" })
  revokedBy!: string;
}
