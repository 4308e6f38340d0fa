// Entry point of the Pulumi project in infra/Pulumi.yaml: reads the stack
// configuration, deploys the api, and exports what operators and engineers need.
import { deployApi, readStackConfig } from "./api-deployment";

const outputs = deployApi(readStackConfig());

export const apiUrl = outputs.apiUrl;
export const tunnelServerNetwork = outputs.tunnelServerNetwork;
export const tunnelServerSubnet = outputs.tunnelServerSubnet;
export const databaseInstance = outputs.databaseInstance;
export const serviceAccount = outputs.serviceAccount;
export const bootstrapTokenSecret = outputs.bootstrapTokenSecret;
export const bootstrapToken = outputs.bootstrapToken;
