// Routes engineers use to see, approve and stop tunnels.
import { Controller, Delete, Get, HttpCode, Post } from "@nestjs/common";
import { ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import {
  approveTunnelRequestSchema,
  auditListSchema,
  liveFlagSchema,
  tunnelCursorSchema,
  tunnelPageLimitSchema,
  tunnelListSchema,
  tunnelViewSchema,
  stateSchema,
  stopTunnelRequestSchema,
  tunnelIdSchema,
  waitSecondsSchema,
  withdrawApprovalRequestSchema,
  type ApproveTunnelRequest,
  type AuditList,
  type StopTunnelRequest,
  type TunnelCursor,
  type TunnelId,
  type TunnelList,
  type TunnelState,
  type TunnelView,
  type WithdrawApprovalRequest,
} from "@support-tunnel/common";
import { openApiSchema } from "../dtos/openapi";
import { CurrentEngineer, EngineerRoute } from "../http/auth.guard";
import { Ctx, type RequestContext } from "../http/request-context";
import { WireBody, WireParam, WireQuery } from "../http/wire-params";
import type { Engineer } from "../services/auth.service";
import { TunnelService } from "../services/tunnel.service";

@ApiTags("tunnels")
@Controller("v1/tunnels")
export class TunnelController {
  constructor(private readonly tunnels: TunnelService) {}

  @Get()
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(tunnelListSchema) })
  @ApiOperation({
    summary:
      "List tunnels, newest first, optionally by state or only live ones; a page at a time (nextCursor)",
  })
  list(
    @WireQuery("state", stateSchema.optional()) state: TunnelState | undefined,
    @WireQuery("live", liveFlagSchema.optional()) live: boolean | undefined,
    @WireQuery("cursor", tunnelCursorSchema.optional()) cursor: TunnelCursor | undefined,
    @WireQuery("limit", tunnelPageLimitSchema.optional()) limit: number | undefined,
    @CurrentEngineer() engineer: Engineer,
  ): Promise<TunnelList> {
    return this.tunnels.list({ state, live, cursor, limit }, engineer);
  }

  @Get(":id")
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(tunnelViewSchema) })
  @ApiOperation({ summary: "One tunnel; ?wait=S long-polls until the state differs from ?since" })
  get(
    @WireParam("id", tunnelIdSchema) id: TunnelId,
    @WireQuery("wait", waitSecondsSchema.optional()) wait: number | undefined,
    @WireQuery("since", stateSchema.optional()) since: TunnelState | undefined,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<TunnelView> {
    return this.tunnels.view(id, { waitSeconds: wait, since, signal: ctx.signal }, engineer);
  }

  @Post(":id/server")
  @HttpCode(200)
  @EngineerRoute("operator")
  @ApiOkResponse({ schema: openApiSchema(tunnelViewSchema) })
  @ApiOperation({
    summary:
      "Record the tunnel server and the sealed approval: pending → started (one winner, others 409)",
  })
  approve(
    @WireParam("id", tunnelIdSchema) id: TunnelId,
    @WireBody(approveTunnelRequestSchema) body: ApproveTunnelRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<TunnelView> {
    return this.tunnels.approve(id, body, engineer, ctx);
  }

  @Delete(":id/server")
  @EngineerRoute("operator")
  @ApiOkResponse({ schema: openApiSchema(tunnelViewSchema) })
  @ApiOperation({
    summary:
      "Take back an approval the device has not acted on: started → pending, only while it names this server",
  })
  withdraw(
    @WireParam("id", tunnelIdSchema) id: TunnelId,
    @WireBody(withdrawApprovalRequestSchema) body: WithdrawApprovalRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<TunnelView> {
    return this.tunnels.withdrawApproval(id, body.instanceId, engineer, ctx);
  }

  @Delete(":id")
  @EngineerRoute("operator")
  @ApiOkResponse({ schema: openApiSchema(tunnelViewSchema) })
  @ApiOperation({
    summary: "End the tunnel (stoppedBy: engineer, or expiry if its time had run out)",
  })
  stop(
    @WireParam("id", tunnelIdSchema) id: TunnelId,
    @WireBody(stopTunnelRequestSchema, { emptyAs: {} }) body: StopTunnelRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<TunnelView> {
    return this.tunnels.stopByEngineer(id, body.reason, engineer, ctx);
  }

  @Get(":id/audit")
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(auditListSchema) })
  @ApiOperation({ summary: "The tunnel's audit trail, oldest first" })
  audit(
    @WireParam("id", tunnelIdSchema) id: TunnelId,
    @CurrentEngineer() engineer: Engineer,
  ): Promise<AuditList> {
    return this.tunnels.auditTrail(id, engineer);
  }
}
