// Routes engineers use to see, approve and stop tunnels.
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from "@nestjs/common";
import { ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from "@nestjs/swagger";
import {
  approveTunnelRequestSchema,
  auditListSchema,
  tunnelListSchema,
  tunnelViewSchema,
  stateSchema,
  stopTunnelRequestSchema,
  tunnelIdSchema,
  waitSecondsSchema,
  type ApproveTunnelRequest,
  type AuditList,
  type StopTunnelRequest,
  type TunnelId,
  type TunnelList,
  type TunnelState,
  type TunnelView,
} from "@support-tunnel/common";
import { openApiSchema } from "../dtos/openapi";
import { CurrentEngineer, EngineerRoute } from "../http/auth.guard";
import { Ctx, type RequestContext } from "../http/request-context";
import { WirePipe } from "../http/zod.pipe";
import type { Engineer } from "../services/auth.service";
import { TunnelService } from "../services/tunnel.service";

const idPipe = () => new WirePipe(tunnelIdSchema, "id");

@ApiTags("tunnels")
@Controller("v1/tunnels")
export class TunnelController {
  constructor(private readonly tunnels: TunnelService) {}

  @Get()
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(tunnelListSchema) })
  @ApiOperation({ summary: "List tunnels, newest first, optionally by state" })
  @ApiQuery({ name: "state", required: false, type: String })
  list(
    @Query("state", new WirePipe(stateSchema.optional(), "state")) state: TunnelState | undefined,
  ): Promise<TunnelList> {
    return this.tunnels.list(state);
  }

  @Get(":id")
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(tunnelViewSchema) })
  @ApiOperation({ summary: "One tunnel; ?wait=S long-polls until the state differs from ?since" })
  @ApiQuery({ name: "wait", required: false, type: Number })
  @ApiQuery({ name: "since", required: false, type: String })
  get(
    @Param("id", idPipe()) id: TunnelId,
    @Query("wait", new WirePipe(waitSecondsSchema.optional(), "wait")) wait: number | undefined,
    @Query("since", new WirePipe(stateSchema.optional(), "since")) since: TunnelState | undefined,
    @Ctx() ctx: RequestContext,
  ): Promise<TunnelView> {
    return this.tunnels.view(id, { waitSeconds: wait, since, signal: ctx.signal });
  }

  @Post(":id/server")
  @HttpCode(200)
  @EngineerRoute("operator")
  @ApiOkResponse({ schema: openApiSchema(tunnelViewSchema) })
  @ApiOperation({
    summary:
      "Record the tunnel server and the sealed approval: pending → started (one winner, others 409)",
  })
  @ApiBody({ schema: openApiSchema(approveTunnelRequestSchema) })
  approve(
    @Param("id", idPipe()) id: TunnelId,
    @Body(new WirePipe(approveTunnelRequestSchema, "body")) body: ApproveTunnelRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<TunnelView> {
    return this.tunnels.approve(id, body, engineer, ctx);
  }

  @Delete(":id")
  @EngineerRoute("operator")
  @ApiOkResponse({ schema: openApiSchema(tunnelViewSchema) })
  @ApiOperation({
    summary: "End the tunnel (stoppedBy: engineer, or expiry if its time had run out)",
  })
  @ApiBody({ schema: openApiSchema(stopTunnelRequestSchema), required: false })
  stop(
    @Param("id", idPipe()) id: TunnelId,
    @Body(new WirePipe(stopTunnelRequestSchema, "body", { emptyAs: {} })) body: StopTunnelRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<TunnelView> {
    return this.tunnels.stopByEngineer(id, body.reason, engineer, ctx);
  }

  @Get(":id/audit")
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(auditListSchema) })
  @ApiOperation({ summary: "The tunnel's audit trail, oldest first" })
  audit(@Param("id", idPipe()) id: TunnelId): Promise<AuditList> {
    return this.tunnels.auditTrail(id);
  }
}
