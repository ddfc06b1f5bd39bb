// The order worker process (an EKS pod; `npm start` runs it too): orderWorkflow and its activities.
// The Temporal runtime shuts the worker down on SIGINT/SIGTERM; running activities finish first,
// workflows continue on another worker from their history.
import { startOrderWorker } from '../orderWorker/worker';

void startOrderWorker()
  .then((w) => w.done)
  .then(() => process.exit(0));
