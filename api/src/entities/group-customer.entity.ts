// A customer a group serves: the group's members see and may take its tunnels.
import { Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { CustomerEntity } from "./customer.entity";
import { GroupEntity } from "./group.entity";

@Entity({ name: "group_customers" })
@Index("group_customers_customer_id_idx", ["customerId"])
export class GroupCustomerEntity {
  @PrimaryColumn({ name: "group_id", type: "uuid" })
  groupId!: string;

  @PrimaryColumn({ name: "customer_id", type: "uuid" })
  customerId!: string;

  @ManyToOne(() => GroupEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "group_id", foreignKeyConstraintName: "group_customers_group_id_fkey" })
  group?: GroupEntity;

  @ManyToOne(() => CustomerEntity, { onDelete: "CASCADE" })
  @JoinColumn({
    name: "customer_id",
    foreignKeyConstraintName: "group_customers_customer_id_fkey",
  })
  customer?: CustomerEntity;
}
