namespace Serverless.Core.Inference.Batching;

/// <summary>
/// Counters of one <see cref="DynamicBatcher"/> since it was created: what the GPU server's stats endpoint
/// reports, and what tests use to prove that requests really were joined.
/// </summary>
/// <param name="Requests">Requests admitted (each caller of Run once).</param>
/// <param name="Runs">Calls into the wrapped session (a joined run counts once).</param>
/// <param name="JoinedRuns">Runs that served more than one request.</param>
/// <param name="Rejected">Requests refused because the queue was full.</param>
/// <param name="FailedRuns">Runs that threw.</param>
/// <param name="LargestBatch">Most requests served by one run.</param>
/// <param name="Queued">Requests waiting or running right now.</param>
public readonly record struct BatcherStatistics(long Requests, long Runs, long JoinedRuns, long Rejected, long FailedRuns, int LargestBatch, int Queued);
