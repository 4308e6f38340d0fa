// An engineer's role in a group, possibly for a limited time. Deleting the
// engineer or the group deletes it (the foreign keys cascade), so access can
// never outlive the account.
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { EngineerEntity } from "./engineer.entity";
import { GroupEntity } from "./group.entity";

@Entity({ name: "group_members" })
@Index("group_members_engineer_id_idx", ["engineerId"])
@Index("group_members_expires_at_idx", ["expiresAt"])
export class GroupMemberEntity {
  @PrimaryColumn({ name: "group_id", type: "uuid" })
  groupId!: string;

  @PrimaryColumn({ name: "engineer_id", type: "uuid" })
  engineerId!: string;

  /** owner | gatekeeper | aclkeeper | member | guest */
  @Column({ type: "text" })
  role!: string;

  /** The access ends by itself then (members and guests); null: until removed. */
  @Column({ name: "expires_at", type: "timestamptz", nullable: true })
  expiresAt!: Date | null;

  @Column({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;

  @ManyToOne(() => GroupEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "group_id", foreignKeyConstraintName: "group_members_group_id_fkey" })
  group?: GroupEntity;

  @ManyToOne(() => EngineerEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "engineer_id", foreignKeyConstraintName: "group_members_engineer_id_fkey" })
  engineer?: EngineerEntity;
}
