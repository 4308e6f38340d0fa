// A support engineer: a personal identity with a role. The token is stored only as a hash.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "engineers" })
export class EngineerEntity {
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  @Index("engineers_name_key", { unique: true })
  @Column({ type: "text" })
  name!: string;

  /** viewer | operator | admin */
  @Column({ type: "text" })
  role!: string;

  /** SHA-256 of the engineer token, hex. */
  @Index("engineers_token_hash_key", { unique: true })
  @Column({ name: "token_hash", type: "text" })
  tokenHash!: string;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;

  /** Who made them, as the audit log names actors; null for engineers from before it was kept. */
  @Column({ name: "created_by", type: "text", nullable: true })
  createdBy!: string | null;
}
