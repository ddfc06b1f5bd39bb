// What pages an operator: a message in either dead-letter queue (a command or an event the system
// gave up on), orders waiting too long for the matcher, any gateway handler error, and Redis CPU or
// memory running high (with eviction off, a full Redis refuses orders). All notify one SNS topic.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlarmsProps {
  readonly key: kms.IKey;
  readonly deadLetterQueues: Record<string, sqs.IQueue>;
  /** Queues whose oldest message must not wait longer than `maxMessageAge`. */
  readonly workQueues: Record<string, sqs.IQueue>;
  readonly maxMessageAge: Duration;
  readonly functions: Record<string, lambda.IFunction>;
  readonly redisNodeIds: string[];
}

export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'order-lifecycle alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    const notify = new actions.SnsAction(this.topic);
    const add = (alarmId: string, props: cloudwatch.AlarmProps): void => {
      const alarm = new cloudwatch.Alarm(this, alarmId, props);
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      this.alarms.push(alarm);
    };
    const minute = Duration.minutes(1);

    for (const [name, dlq] of Object.entries(props.deadLetterQueues)) {
      add(`${name}NotEmpty`, {
        alarmDescription: `A message reached ${name}: inspect it, fix the cause, redrive it.`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({
          period: minute,
          statistic: 'Maximum',
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const [name, queue] of Object.entries(props.workQueues)) {
      add(`${name}OldestMessageAge`, {
        alarmDescription: `${name}: a message has waited over ${props.maxMessageAge.toSeconds()} s; its consumer is down or too slow.`,
        metric: queue.metricApproximateAgeOfOldestMessage({
          period: minute,
          statistic: 'Maximum',
        }),
        threshold: props.maxMessageAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      add(`${name}Errors`, {
        alarmDescription: `The ${name} handler failed (error or timeout); clients saw it.`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const redisMetric = (metricName: string, node: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/ElastiCache',
        metricName,
        dimensionsMap: { CacheClusterId: node },
        period: Duration.minutes(5),
        statistic: 'Average',
      });
    for (const node of props.redisNodeIds) {
      add(`Redis${node}Cpu`, {
        alarmDescription: `Redis ${node}: the engine thread is busy over 80% — the matcher is near its ceiling.`,
        metric: redisMetric('EngineCPUUtilization', node),
        threshold: 80,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      });
      add(`Redis${node}Memory`, {
        alarmDescription: `Redis ${node}: memory over 75%; with eviction off a full node refuses orders.`,
        metric: redisMetric('DatabaseMemoryUsagePercentage', node),
        threshold: 75,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      });
    }
  }
}
