// The matcher process (an EKS pod; `npm start` runs it too): SQS orders queue → Lua book in Redis →
// outbox stream → SNS topic. SIGTERM finishes the batch in hand, publishes the outbox, and exits.
import { startMatcher } from '../matcher/service';
import { runUntilSignal } from '../platform/lifecycle';
import { serviceLogger } from '../platform/log';

runUntilSignal(serviceLogger('matcher'), 'the matcher', startMatcher);
