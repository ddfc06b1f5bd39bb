// The relay process (an EKS pod; `npm start` runs it too): matcher events from SQS become signals
// to the orders' workflows. SIGTERM finishes the batch in hand and exits.
import { runUntilSignal } from '../platform/lifecycle';
import { serviceLogger } from '../platform/log';
import { startRelay } from '../relay/relay';

runUntilSignal(serviceLogger('relay'), 'the relay', startRelay);
