using System.Diagnostics;
using OpenTelemetry.Trace;

namespace Engagement.Telemetry;

/// <summary>
/// Drops client and internal spans that are not part of a recorded trace: the durable backend and queue listeners
/// poll storage every second, and those calls belong to no request. Storage and HTTP calls made while handling a
/// request, an orchestration or an activity have a recorded parent and are kept. The product's own root spans use
/// the Server, Consumer or Producer kinds, so they always start a trace.
/// </summary>
public sealed class BackgroundClientSpanSampler : Sampler
{
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        var parentRecorded = samplingParameters.ParentContext.TraceId != default
            && samplingParameters.ParentContext.TraceFlags.HasFlag(ActivityTraceFlags.Recorded);
        var background = samplingParameters.Kind is ActivityKind.Client or ActivityKind.Internal && !parentRecorded;
        return new SamplingResult(background ? SamplingDecision.Drop : SamplingDecision.RecordAndSample);
    }
}
