// @support-tunnel/lab: test prerequisites and the network-namespace lab (hosts with
// their own /etc and /home, NAT router, internet segment) that the device tests,
// the netns provider, the end-to-end tests and the demo stand on.
export * from "./prerequisites";
