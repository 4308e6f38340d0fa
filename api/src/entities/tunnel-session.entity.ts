// One SSH session of support on a device, as the device reported it: who, when it
// opened and closed, and its exit code. Never what was typed or shown: that stays
// in the device's own record, for the customer.
import { Column, Entity, PrimaryColumn } from "typeorm";

const PRIMARY_KEY = "tunnel_sessions_pkey";

@Entity({ name: "tunnel_sessions" })
export class TunnelSessionEntity {
  @PrimaryColumn({ name: "tunnel_id", type: "uuid", primaryKeyConstraintName: PRIMARY_KEY })
  tunnelId!: string;

  /** The device's id of the session (12 hex digits), unique within its tunnel. */
  @PrimaryColumn({ name: "session_id", type: "text", primaryKeyConstraintName: PRIMARY_KEY })
  sessionId!: string;

  /** The engineer whose approval the device accepted; null when it named none. */
  @Column({ type: "text", nullable: true })
  engineer!: string | null;

  /** By the device's clock. */
  @Column({ name: "started_at", type: "timestamptz" })
  startedAt!: Date;

  /** Null while the session is open (or its end was never reported). */
  @Column({ name: "ended_at", type: "timestamptz", nullable: true })
  endedAt!: Date | null;

  @Column({ name: "exit_code", type: "integer", nullable: true })
  exitCode!: number | null;
}
