using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Azure.Hosting;

namespace Serverless.Azure.Functions;

/// <summary>
/// The HTTP triggers. host.json sets an empty route prefix, so the public paths are the protocol's own
/// (<c>/v2/...</c>), as on AWS. Each function hands its HttpContext to <see cref="ProtocolEndpoint"/>, which
/// writes the answer; the EmptyResult leaves that answer as written.
/// </summary>
public sealed class ProtocolFunctions(ProtocolEndpoint endpoint)
{
    /// <summary>Liveness and readiness, anonymous so platform probes need no key.</summary>
    [Function("health")]
    public async Task<IActionResult> HealthAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", Route = "v2/health/{*rest}")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        await endpoint.ServeAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }

    /// <summary>Server metadata (<c>GET /v2</c>): a catch-all route does not match its own empty tail.</summary>
    [Function("server")]
    public async Task<IActionResult> ServerAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", "head", Route = "v2")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        await endpoint.ServeAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }

    /// <summary>Everything else under /v2: model metadata and readiness, infer (JSON and binary), the repository extension.</summary>
    [Function("protocol")]
    public async Task<IActionResult> ProtocolAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", "post", "head", Route = "v2/{*rest}")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        await endpoint.ServeAsync(request.HttpContext).ConfigureAwait(false);
        return new EmptyResult();
    }
}
