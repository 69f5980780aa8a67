using Engagement.FollowUp.Engine;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace Engagement.Functions.Durable;

/// <summary>Triggers for the follow-up orchestration and its activities: the classes are the core's own.</summary>
public sealed class FollowUpFunctions(
    PlanFollowUpActivity plan,
    SendOutreachActivity send,
    EscalateFollowUpActivity escalate,
    RecordResponseActivity record,
    FinishFollowUpActivity finish)
{
    [Function(nameof(FollowUpOrchestrator))]
    public static Task<FollowUpResult> RunFollowUp([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new FollowUpOrchestrator().RunAsync(context, context.GetInput<FollowUpInput>()!);

    [Function(nameof(PlanFollowUpActivity))]
    public Task<FollowUpPlan> Plan([ActivityTrigger] FollowUpInput input, FunctionContext context) =>
        plan.RunAsync(new FunctionActivityContext(nameof(PlanFollowUpActivity), context.InvocationId), input);

    [Function(nameof(SendOutreachActivity))]
    public Task<SendResult> Send([ActivityTrigger] SendRequest input, FunctionContext context) =>
        send.RunAsync(new FunctionActivityContext(nameof(SendOutreachActivity), context.InvocationId), input);

    [Function(nameof(EscalateFollowUpActivity))]
    public Task<string> Escalate([ActivityTrigger] EscalateRequest input, FunctionContext context) =>
        escalate.RunAsync(new FunctionActivityContext(nameof(EscalateFollowUpActivity), context.InvocationId), input);

    [Function(nameof(RecordResponseActivity))]
    public Task<RecordResponseResult> Record([ActivityTrigger] RecordResponseRequest input, FunctionContext context) =>
        record.RunAsync(new FunctionActivityContext(nameof(RecordResponseActivity), context.InvocationId), input);

    [Function(nameof(FinishFollowUpActivity))]
    public Task<string> Finish([ActivityTrigger] FinishRequest input, FunctionContext context) =>
        finish.RunAsync(new FunctionActivityContext(nameof(FinishFollowUpActivity), context.InvocationId), input);
}
