// CDK app: `npm run synth` (cdk synth) writes the CloudFormation template to cdk.out, offline: the
// stack is environment-agnostic and looks nothing up. cdk-nag's AwsSolutions pack runs at synth and
// fails it on any finding that is not acknowledged (infra/nag.ts).
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { featureFlags } from './context';
import { assertHandlerEntriesExist, defaultHandlerEntries } from './handlers';
import { OrderLifecycleStack } from './orderLifecycleStack';

const app = new App({ context: featureFlags });
const handlerEntries = defaultHandlerEntries();
assertHandlerEntriesExist(handlerEntries);
new OrderLifecycleStack(app, 'OrderLifecycle', { handlerEntries });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
