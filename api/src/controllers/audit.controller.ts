// The whole audit log, for admins: what engineers and devices did, to tunnels
// and to the organization, newest first, a page at a time.
import { Controller, Get } from "@nestjs/common";
import { ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import {
  auditActionFilterSchema,
  auditCursorSchema,
  auditPageLimitSchema,
  auditPageSchema,
  engineerNameSchema,
  tunnelIdSchema,
  type AuditCursor,
  type AuditPage,
  type TunnelId,
} from "@support-tunnel/common";
import { openApiSchema } from "../dtos/openapi";
import { EngineerRoute } from "../http/auth.guard";
import { WireQuery } from "../http/wire-params";
import { AuditService } from "../services/audit.service";

@ApiTags("audit")
@Controller("v1/audit")
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @EngineerRoute("admin")
  @ApiOkResponse({ schema: openApiSchema(auditPageSchema) })
  @ApiOperation({
    summary:
      "The whole audit log, newest first: tunnel, engineer, customer and group events; a page at a time (nextCursor)",
  })
  list(
    @WireQuery("cursor", auditCursorSchema.optional()) cursor: AuditCursor | undefined,
    @WireQuery("limit", auditPageLimitSchema.optional()) limit: number | undefined,
    @WireQuery("engineer", engineerNameSchema.optional()) engineer: string | undefined,
    @WireQuery("tunnel", tunnelIdSchema.optional()) tunnel: TunnelId | undefined,
    @WireQuery("action", auditActionFilterSchema.optional()) action: string | undefined,
  ): Promise<AuditPage> {
    return this.audit.page({ cursor, limit, engineer, tunnel, action });
  }
}
