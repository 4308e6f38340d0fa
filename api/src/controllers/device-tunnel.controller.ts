// Routes the device calls: request a tunnel, follow it, report the connection, stop it.
import { Controller, Delete, Get, Headers, HttpCode, Post, UseGuards } from "@nestjs/common";
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from "@nestjs/swagger";
import { ThrottlerGuard } from "@nestjs/throttler";
import {
  DEVICE_ID_HEADER,
  deviceIdSchema,
  type DeviceId,
  createTunnelRequestSchema,
  createTunnelResponseSchema,
  deviceTunnelViewSchema,
  reportConnectedRequestSchema,
  reportSessionRequestSchema,
  reportRefusalRequestSchema,
  stateSchema,
  stopTunnelRequestSchema,
  waitSecondsSchema,
  type CreateTunnelRequest,
  type CreateTunnelResponse,
  type DeviceTunnelView,
  type ReportConnectedRequest,
  type ReportSessionRequest,
  type ReportRefusalRequest,
  type StopTunnelRequest,
  type TunnelState,
} from "@support-tunnel/common";
import { openApiSchema } from "../dtos/openapi";
import type { TunnelEntity } from "../entities/tunnel.entity";
import { CurrentDeviceTunnel, DeviceRoute } from "../http/auth.guard";
import { Ctx, type RequestContext } from "../http/request-context";
import { WireBody, WireHeader, WireQuery } from "../http/wire-params";
import { TunnelService } from "../services/tunnel.service";

@ApiTags("device")
@Controller("v1/device")
export class DeviceTunnelController {
  constructor(private readonly tunnels: TunnelService) {}

  @Post("tunnels")
  @UseGuards(ThrottlerGuard)
  @ApiOperation({ summary: "Request a support tunnel (rate-limited per address)" })
  @ApiCreatedResponse({ schema: openApiSchema(createTunnelResponseSchema) })
  @ApiHeader({
    name: "x-enrollment-secret",
    required: false,
    description: "the fleet's enrollment secret, when the api requires one",
  })
  create(
    @WireBody(createTunnelRequestSchema) body: CreateTunnelRequest,
    @Headers("x-enrollment-secret") secret: string | undefined,
    @WireHeader(DEVICE_ID_HEADER, deviceIdSchema.optional()) deviceId: DeviceId | undefined,
    @Ctx() ctx: RequestContext,
  ): Promise<CreateTunnelResponse> {
    return this.tunnels.request(body, secret, ctx, deviceId);
  }

  @Get("tunnel")
  @DeviceRoute()
  @ApiOkResponse({ schema: openApiSchema(deviceTunnelViewSchema) })
  @ApiOperation({
    summary: "The device's own tunnel; ?wait=S long-polls until the state differs from ?since",
  })
  get(
    @CurrentDeviceTunnel() tunnel: TunnelEntity,
    @WireQuery("wait", waitSecondsSchema.optional()) wait: number | undefined,
    @WireQuery("since", stateSchema.optional()) since: TunnelState | undefined,
    @Ctx() ctx: RequestContext,
  ): Promise<DeviceTunnelView> {
    return this.tunnels.deviceView(tunnel, { waitSeconds: wait, since, signal: ctx.signal });
  }

  @Post("tunnel/connected")
  @HttpCode(200)
  @DeviceRoute()
  @ApiOkResponse({ schema: openApiSchema(deviceTunnelViewSchema) })
  @ApiOperation({
    summary: "Report that WireGuard is up and the support user exists: started → running",
  })
  connected(
    @CurrentDeviceTunnel() tunnel: TunnelEntity,
    @WireBody(reportConnectedRequestSchema) body: ReportConnectedRequest,
    @Ctx() ctx: RequestContext,
  ): Promise<DeviceTunnelView> {
    return this.tunnels.reportConnected(tunnel, body.supportUser, ctx);
  }

  @Post("tunnel/sessions")
  @HttpCode(204)
  @DeviceRoute()
  @ApiNoContentResponse({ description: "recorded (a repeated report changes nothing)" })
  @ApiOperation({
    summary:
      "Report a session of support opened or closed on the device (who, when, exit code; no content); the first makes a running tunnel connected",
  })
  session(
    @CurrentDeviceTunnel() tunnel: TunnelEntity,
    @WireBody(reportSessionRequestSchema) body: ReportSessionRequest,
    @Ctx() ctx: RequestContext,
  ): Promise<void> {
    return this.tunnels.reportSession(tunnel, body, ctx);
  }

  @Post("tunnel/refusal")
  @HttpCode(200)
  @DeviceRoute()
  @ApiOkResponse({ schema: openApiSchema(deviceTunnelViewSchema) })
  @ApiOperation({
    summary:
      "Report that the device refused the approval, and why: started → pending, the approval cleared",
  })
  refusal(
    @CurrentDeviceTunnel() tunnel: TunnelEntity,
    @WireBody(reportRefusalRequestSchema) body: ReportRefusalRequest,
    @Ctx() ctx: RequestContext,
  ): Promise<DeviceTunnelView> {
    return this.tunnels.reportRefusal(tunnel, body.kind, ctx);
  }

  @Delete("tunnel")
  @DeviceRoute()
  @ApiOkResponse({ schema: openApiSchema(deviceTunnelViewSchema) })
  @ApiOperation({ summary: "The customer ends the tunnel (stoppedBy: device)" })
  stop(
    @CurrentDeviceTunnel() tunnel: TunnelEntity,
    @WireBody(stopTunnelRequestSchema, { emptyAs: {} }) body: StopTunnelRequest,
    @Ctx() ctx: RequestContext,
  ): Promise<DeviceTunnelView> {
    return this.tunnels.stopByDevice(tunnel, body.reason, ctx);
  }
}
