// Routes of access: customers (admins create them and rotate their enrollment
// secrets) and groups (admins create them; their owners, gatekeepers and
// aclkeepers manage them, as AccessService decides).
import { Controller, Delete, Get, HttpCode, Post } from "@nestjs/common";
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from "@nestjs/swagger";
import {
  addGroupCustomerRequestSchema,
  addMemberRequestSchema,
  createCustomerRequestSchema,
  createGroupRequestSchema,
  customerListSchema,
  customerNameSchema,
  customerSecretResponseSchema,
  engineerNameSchema,
  groupListSchema,
  groupNameSchema,
  groupViewSchema,
  type AddGroupCustomerRequest,
  type AddMemberRequest,
  type CreateCustomerRequest,
  type CreateGroupRequest,
  type CustomerList,
  type CustomerSecretResponse,
  type GroupList,
  type GroupView,
} from "@support-tunnel/common";
import { openApiSchema } from "../dtos/openapi";
import { CurrentEngineer, EngineerRoute } from "../http/auth.guard";
import { Ctx, type RequestContext } from "../http/request-context";
import { WireBody, WireParam } from "../http/wire-params";
import { AccessService } from "../services/access.service";
import type { Engineer } from "../services/auth.service";

@ApiTags("access")
@Controller("v1")
export class AccessController {
  constructor(private readonly access: AccessService) {}

  @Post("customers")
  @EngineerRoute("admin")
  @ApiCreatedResponse({ schema: openApiSchema(customerSecretResponseSchema) })
  @ApiOperation({ summary: "Create a customer; its enrollment secret is in this answer only" })
  createCustomer(
    @WireBody(createCustomerRequestSchema) body: CreateCustomerRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<CustomerSecretResponse> {
    return this.access.createCustomer(body, engineer, ctx);
  }

  @Post("customers/:name/enrollment-secret")
  @EngineerRoute("admin")
  @ApiCreatedResponse({ schema: openApiSchema(customerSecretResponseSchema) })
  @ApiOperation({ summary: "Replace a customer's enrollment secret: the old one stops working" })
  rotateSecret(
    @WireParam("name", customerNameSchema) name: string,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<CustomerSecretResponse> {
    return this.access.rotateSecret(name, engineer, ctx);
  }

  @Get("customers")
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(customerListSchema) })
  @ApiOperation({ summary: "Customers: all for admins, else those your groups serve" })
  listCustomers(@CurrentEngineer() engineer: Engineer): Promise<CustomerList> {
    return this.access.listCustomers(engineer);
  }

  @Post("groups")
  @EngineerRoute("admin")
  @ApiCreatedResponse({ schema: openApiSchema(groupViewSchema) })
  @ApiOperation({ summary: "Create a group (no members yet: add its owner next)" })
  createGroup(
    @WireBody(createGroupRequestSchema) body: CreateGroupRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<GroupView> {
    return this.access.createGroup(body, engineer, ctx);
  }

  @Get("groups")
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(groupListSchema) })
  @ApiOperation({ summary: "Groups: all for admins, else those you are in" })
  listGroups(@CurrentEngineer() engineer: Engineer): Promise<GroupList> {
    return this.access.listGroups(engineer);
  }

  @Get("groups/:name")
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(groupViewSchema) })
  @ApiOperation({ summary: "One group: members, roles, expiries, customers" })
  showGroup(
    @WireParam("name", groupNameSchema) name: string,
    @CurrentEngineer() engineer: Engineer,
  ): Promise<GroupView> {
    return this.access.showGroup(name, engineer);
  }

  @Post("groups/:name/members")
  @EngineerRoute("viewer")
  @ApiCreatedResponse({ schema: openApiSchema(groupViewSchema) })
  @ApiOperation({ summary: "Add an engineer to the group with a role (or change their role)" })
  addMember(
    @WireParam("name", groupNameSchema) name: string,
    @WireBody(addMemberRequestSchema) body: AddMemberRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<GroupView> {
    return this.access.addMember(name, body, engineer, ctx);
  }

  @Delete("groups/:name/members/:engineer")
  @HttpCode(200)
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(groupViewSchema) })
  @ApiOperation({
    summary: "Remove an engineer from the group: live tunnels they no longer may use end",
  })
  removeMember(
    @WireParam("name", groupNameSchema) name: string,
    @WireParam("engineer", engineerNameSchema) member: string,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<GroupView> {
    return this.access.removeMember(name, member, engineer, ctx);
  }

  @Post("groups/:name/customers")
  @EngineerRoute("viewer")
  @ApiCreatedResponse({ schema: openApiSchema(groupViewSchema) })
  @ApiOperation({ summary: "The group serves this customer from now on" })
  addCustomer(
    @WireParam("name", groupNameSchema) name: string,
    @WireBody(addGroupCustomerRequestSchema) body: AddGroupCustomerRequest,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<GroupView> {
    return this.access.addCustomer(name, body, engineer, ctx);
  }

  @Delete("groups/:name/customers/:customer")
  @HttpCode(200)
  @EngineerRoute("viewer")
  @ApiOkResponse({ schema: openApiSchema(groupViewSchema) })
  @ApiOperation({
    summary: "The group no longer serves this customer: live tunnels its members lose end",
  })
  removeCustomer(
    @WireParam("name", groupNameSchema) name: string,
    @WireParam("customer", customerNameSchema) customer: string,
    @CurrentEngineer() engineer: Engineer,
    @Ctx() ctx: RequestContext,
  ): Promise<GroupView> {
    return this.access.removeCustomer(name, customer, engineer, ctx);
  }
}
