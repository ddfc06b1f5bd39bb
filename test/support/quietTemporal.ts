// Worker state changes at INFO drown the test output; warnings and errors still show. A set-up file
// of jest's `servers` project; a unit test that runs a worker (replay) imports it first.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
