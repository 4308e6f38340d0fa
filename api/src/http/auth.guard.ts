// Guards that authenticate the caller before a handler runs and leave who it is
// on the request for the @CurrentEngineer / @CurrentDeviceTunnel parameters.
import {
  createParamDecorator,
  SetMetadata,
  UseGuards,
  applyDecorators,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { ApiBearerAuth } from "@nestjs/swagger";
import type { EngineerRole } from "@support-tunnel/common";
import type { Request } from "express";
import type { TunnelEntity } from "../entities/tunnel.entity";
import { AuthService, type Engineer } from "../services/auth.service";

const ROLE_KEY = "support-tunnel:role";

/** A request after the guards: who is calling. */
export interface AuthenticatedRequest extends Request {
  engineer?: Engineer;
  deviceTunnel?: TunnelEntity;
}

@Injectable()
export class EngineerGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const role =
      this.reflector.get<EngineerRole | undefined>(ROLE_KEY, context.getHandler()) ?? "viewer";
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    req.engineer = await this.auth.engineer(req.headers.authorization, role);
    return true;
  }
}

@Injectable()
export class DeviceGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    req.deviceTunnel = await this.auth.device(req.headers.authorization);
    return true;
  }
}

/** An engineer route needing at least `role`. */
export const EngineerRoute = (role: EngineerRole) =>
  applyDecorators(SetMetadata(ROLE_KEY, role), UseGuards(EngineerGuard), ApiBearerAuth());

/** A route for the device holding its tunnel's token. */
export const DeviceRoute = () => applyDecorators(UseGuards(DeviceGuard), ApiBearerAuth());

export const CurrentEngineer = createParamDecorator(
  (_: unknown, context: ExecutionContext): Engineer =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().engineer!,
);

export const CurrentDeviceTunnel = createParamDecorator(
  (_: unknown, context: ExecutionContext): TunnelEntity =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().deviceTunnel!,
);
