using System.Buffers;

namespace Serverless.Lambda.Runtime;

/// <summary>
/// Handles one Lambda event. It writes the response document into <paramref name="response"/> (a buffer the
/// loop reuses, so the size is known before anything is posted) and observes
/// <paramref name="cancellationToken"/>, which fires at the invocation's deadline. Any exception it throws
/// is reported to the Runtime API as an invocation error; the loop carries on with the next event.
/// </summary>
public interface ILambdaHandler
{
    Task HandleAsync(LambdaInvocation invocation, IBufferWriter<byte> response, CancellationToken cancellationToken);
}
