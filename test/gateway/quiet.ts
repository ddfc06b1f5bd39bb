// Imported first by the gateway tests: keeps the gateway's pino logs out of the test output
// (GATEWAY_TEST_LOG_LEVEL=debug shows them).
import { serviceLogger } from '../../platform/log';

const log = serviceLogger('gateway');

log.level = process.env.GATEWAY_TEST_LOG_LEVEL ?? 'silent';
