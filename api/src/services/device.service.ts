// The fleet view: the devices an engineer may see (those of the customers their
// groups serve, and of no customer; all for admins), and keeping each device's
// last request current.
import { Inject, Injectable } from "@nestjs/common";
import type { DeviceId, DeviceList, TunnelId } from "@support-tunnel/common";
import { CustomerRepository } from "../repositories/customer.repository";
import { DeviceRepository } from "../repositories/device.repository";
import { AccessService } from "./access.service";
import type { Engineer } from "./auth.service";
import { CLOCK, type Clock } from "./clock";
import { notFound } from "./errors";
import { LastRequests } from "./last-requests.service";

@Injectable()
export class DeviceService {
  constructor(
    private readonly devices: DeviceRepository,
    private readonly customers: CustomerRepository,
    private readonly access: AccessService,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly lastRequests: LastRequests,
  ) {}

  async list(engineer: Engineer, customerName: string | undefined): Promise<DeviceList> {
    const visible = await this.access.visibility(engineer);
    let ids = visible.all ? undefined : visible.customerIds;
    if (customerName !== undefined) {
      const customer = await this.customers.findByName(customerName);
      // A customer one does not serve is not there, as its tunnels are not.
      if (!customer || (ids !== undefined && !ids.includes(customer.id))) {
        throw notFound(`customer ${customerName} not found`, "customer");
      }
      ids = [customer.id];
    }
    // This replica's pending last requests first: the view lags only by other replicas'.
    await this.lastRequests.flush();
    const rows = await this.devices.list(ids, this.clock.now());
    const names = await this.customers.namesById(
      rows.flatMap((r) => (r.device.customerId ? [r.device.customerId] : [])),
    );
    return {
      devices: rows
        .filter((r) => customerName === undefined || r.device.customerId !== null)
        .map((r) => ({
          deviceId: r.device.id as DeviceId,
          customer: r.device.customerId ? (names.get(r.device.customerId) ?? null) : null,
          hostname: r.device.hostname,
          lastRequestAt: r.device.lastRequestAt.toISOString(),
          liveTunnel: r.liveTunnel as TunnelId | null,
        })),
    };
  }
}
