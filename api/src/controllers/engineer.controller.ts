// Routes about engineers themselves: who am I, and (admin) list, create and revoke.
import { Controller, Delete, Get, HttpCode, Post } from "@nestjs/common";
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import {
  createEngineerRequestSchema,
  createEngineerResponseSchema,
  engineerListSchema,
  whoamiSchema,
  engineerNameSchema,
  type CreateEngineerRequest,
  type CreateEngineerResponse,
  type EngineerList,
  type Whoami,
} from "@support-tunnel/common";
import { openApiSchema } from "../dtos/openapi";
import { CurrentEngineer, EngineerRoute } from "../http/auth.guard";
import { Ctx, type RequestContext } from "../http/request-context";
import { WireBody, WireParam } from "../http/wire-params";
import type { Engineer } from "../services/auth.service";
import { EngineerService } from "../services/engineer.service";

@ApiTags("engineers")
@Controller("v1")
export class EngineerController {
  constructor(private readonly engineers: EngineerService) {}

  @Get("whoami")
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(whoamiSchema) })
  @ApiOperation({ summary: "The calling engineer's name and role" })
  whoami(@CurrentEngineer() engineer: Engineer): Whoami {
    return this.engineers.whoami(engineer);
  }

  @Get("engineers")
  @EngineerRoute("admin")
  @ApiOkResponse({ schema: openApiSchema(engineerListSchema) })
  @ApiOperation({
    summary: "Every engineer: name, role, who created them and when, revoked or not; no tokens",
  })
  list(): Promise<EngineerList> {
    return this.engineers.list();
  }

  @Post("engineers")
  @EngineerRoute("admin")
  @ApiCreatedResponse({ schema: openApiSchema(createEngineerResponseSchema) })
  @ApiOperation({ summary: "Create an engineer; the token is in this answer only" })
  create(
    @WireBody(createEngineerRequestSchema) body: CreateEngineerRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<CreateEngineerResponse> {
    return this.engineers.create(body, {
      actor: `engineer:${engineer.name}`,
      clientAddress: ctx.clientAddress,
      signal: ctx.signal,
    });
  }

  @Delete("engineers/:name")
  @HttpCode(204)
  @EngineerRoute("admin")
  @ApiOperation({ summary: "Revoke an engineer: their token stops working at once" })
  async revoke(
    @WireParam("name", engineerNameSchema) name: string,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<void> {
    await this.engineers.revoke(name, {
      actor: `engineer:${engineer.name}`,
      clientAddress: ctx.clientAddress,
      signal: ctx.signal,
    });
  }
}
