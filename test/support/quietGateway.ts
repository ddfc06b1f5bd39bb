// Imported first by the tests that run the gateway's handlers in-process (twin.ts, the gateway
// tests): keeps the gateway's pino logs out of the test output (GATEWAY_TEST_LOG_LEVEL=debug shows
// them).
import { serviceLogger } from '../../platform/log';

serviceLogger('gateway').level = process.env.GATEWAY_TEST_LOG_LEVEL ?? 'silent';
