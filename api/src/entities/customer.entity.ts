// A customer of the support organization: its devices request tunnels with its
// own enrollment secret, stored only as a hash, and groups of engineers serve it.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "customers" })
export class CustomerEntity {
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  @Index("customers_name_key", { unique: true })
  @Column({ type: "text" })
  name!: string;

  /** SHA-256 of the enrollment secret, hex: a dump of the table enrolls no device. */
  @Index("customers_enrollment_secret_hash_key", { unique: true })
  @Column({ name: "enrollment_secret_hash", type: "text" })
  enrollmentSecretHash!: string;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
