// The fleet view: devices an engineer may see, with customer, hostname, last request and live tunnel.
import { Controller, Get } from "@nestjs/common";
import { ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import { customerNameSchema, deviceListSchema, type DeviceList } from "@support-tunnel/common";
import { openApiSchema } from "../dtos/openapi";
import { CurrentEngineer, EngineerRoute } from "../http/auth.guard";
import { WireQuery } from "../http/wire-params";
import type { Engineer } from "../services/auth.service";
import { DeviceService } from "../services/device.service";

@ApiTags("devices")
@Controller("v1/devices")
export class FleetController {
  constructor(private readonly devices: DeviceService) {}

  @Get()
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(deviceListSchema) })
  @ApiOperation({ summary: "Devices you may see, most recently heard from first" })
  list(
    @WireQuery("customer", customerNameSchema.optional()) customer: string | undefined,
    @CurrentEngineer() engineer: Engineer,
  ): Promise<DeviceList> {
    return this.devices.list(engineer, customer);
  }
}
