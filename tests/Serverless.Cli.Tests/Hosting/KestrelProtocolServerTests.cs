using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Hosting.AspNetCore;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// Kestrel without the generic host: binding errors as Kestrel reports them, a fresh request context for each
/// request of a kept-alive connection (the context object is reused), and a drain on stop.
/// </summary>
public sealed class KestrelProtocolServerTests
{
    [Fact]
    public async Task Start_PortInUse_ThrowsIOExceptionNamingTheAddress()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var endpoint = (IPEndPoint)taken.LocalEndpoint;

        var error = await Assert.ThrowsAsync<IOException>(() =>
            KestrelProtocolServer.StartAsync(endpoint, _ => Task.CompletedTask, NullLoggerFactory.Instance, CancellationToken.None));

        Assert.Contains($"127.0.0.1:{endpoint.Port}", error.Message);
    }

    [Fact]
    public async Task KeptAliveConnection_EachRequestSeesOnlyItsOwnHeadersItemsAndResponse()
    {
        var server = await KestrelProtocolServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), async context =>
        {
            // What a previous request on this connection left behind would show up here.
            var leftover = $"items={context.Items.Count} header={context.Request.Headers["X-Probe"]} status={context.Response.StatusCode} " +
                $"out={context.Response.Headers.ContainsKey("X-Answer")} path={context.Request.Path}";
            context.Items["seen"] = true;
            context.Response.Headers["X-Answer"] = "1";
            context.Response.StatusCode = context.Request.Path == "/teapot" ? 418 : 200;
            await context.Response.WriteAsync(leftover);
        }, NullLoggerFactory.Instance, CancellationToken.None);
        await using (server)
        {
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
            using var client = new HttpClient(handler) { BaseAddress = server.Addresses[0] };
            using (var first = new HttpRequestMessage(HttpMethod.Get, "/teapot"))
            {
                first.Headers.Add("X-Probe", "from-the-first");
                using var response = await client.SendAsync(first);
                Assert.Equal((HttpStatusCode)418, response.StatusCode);
                Assert.Equal("items=0 header=from-the-first status=200 out=False path=/teapot", await response.Content.ReadAsStringAsync());
            }

            for (var i = 0; i < 3; i++)
            {
                using var response = await client.GetAsync("/next");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("items=0 header= status=200 out=False path=/next", await response.Content.ReadAsStringAsync());
            }
        }
    }

    [Fact]
    public async Task Stop_LetsAnInFlightRequestFinish()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await KestrelProtocolServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), async context =>
        {
            entered.SetResult();
            await release.Task;
            await context.Response.WriteAsync("finished");
        }, NullLoggerFactory.Instance, CancellationToken.None);
        await using (server)
        {
            using var client = new HttpClient { BaseAddress = server.Addresses[0], Timeout = TimeSpan.FromSeconds(30) };
            var request = client.GetStringAsync("/slow");
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

            var stop = server.StopAsync(TimeSpan.FromSeconds(20));
            await Task.Delay(100);
            Assert.False(stop.IsCompleted, "stop returned while a request was still running");

            release.SetResult();
            Assert.Equal("finished", await request);
            await stop.WaitAsync(TimeSpan.FromSeconds(20));
        }
    }
}
