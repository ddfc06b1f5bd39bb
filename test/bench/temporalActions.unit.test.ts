import { actionsBetween, parseActions } from '../../bench/support/temporalActions';

const exposition = `# HELP action action counter
# TYPE action counter
action{action_type="command_ScheduleActivityTask",namespace="default",operation="RespondWorkflowTaskCompleted",service_name="frontend"} 77
action{action_type="grpc_SignalWorkflowExecution",namespace="default",operation="SignalWorkflowExecution",service_name="frontend"} 50
action{action_type="grpc_StartWorkflowExecution",namespace="temporal_system",operation="StartWorkflowExecution",service_name="frontend"} 2
action_other{action_type="x",namespace="default"} 9
`;

test('the action counter of one namespace, by type; other namespaces and metrics left out', () => {
  expect(parseActions(exposition, 'default')).toEqual(
    new Map([
      ['command_ScheduleActivityTask', 77],
      ['grpc_SignalWorkflowExecution', 50],
    ]),
  );
  expect(parseActions(exposition, 'temporal_system')).toEqual(
    new Map([['grpc_StartWorkflowExecution', 2]]),
  );
});

test('the difference of two readings, largest first, types that did not move left out', () => {
  const before = new Map([
    ['a', 10],
    ['b', 5],
  ]);
  const after = new Map([
    ['a', 12],
    ['b', 5],
    ['c', 7],
  ]);
  expect(actionsBetween(before, after)).toEqual([
    { type: 'c', count: 7 },
    { type: 'a', count: 2 },
  ]);
});
