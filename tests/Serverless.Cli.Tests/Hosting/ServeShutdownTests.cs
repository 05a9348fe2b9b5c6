using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Serverless.Cli.Commands;
using Serverless.Cli.Hosting;
using Serverless.Cli.Tests.Fixtures;

namespace Serverless.Cli.Tests.Hosting;

/// <summary>
/// serve's shutdown over raw bytes: idle kept-alive connections do not hold the drain, a request already in flight
/// is answered before the server goes, and afterwards the port refuses connections.
/// </summary>
public sealed class ServeShutdownTests
{
    private static async Task<ServeHost> StartAsync()
    {
        TestEnvironment.EnsureOrtLibrary();
        var output = new StringWriter();
        return await ServeHost.StartAsync(ServerFixture.RepoServeOptions(), new CliConsole(output, output, isTerminal: false), CancellationToken.None);
    }

    [Fact]
    public async Task Stop_ClosesIdleKeptAliveConnectionsWithoutWaitingForTheDrain_ThenRefusesConnects()
    {
        var host = await StartAsync();
        using var client = RawClient.Connect(host.BaseAddress);
        client.Send("GET /v2/health/live HTTP/1.1\r\nHost: test\r\n\r\n");
        Assert.Equal(200, client.ReadResponse().Status);

        var watch = Stopwatch.StartNew();
        await host.DisposeAsync();

        Assert.True(watch.Elapsed < ServeHost.DrainTimeout, $"the stop took {watch.ElapsedMilliseconds} ms: an idle connection held the drain");
        Assert.True(client.ClosedByServer(RawClient.Patience), "the idle connection stayed open after the stop");
        Assert.ThrowsAny<SocketException>(() => RawClient.Connect(host.BaseAddress).Dispose());
    }

    [Fact]
    public async Task Stop_WhileARequestBodyIsArriving_AnswersThatRequestThenStops()
    {
        var host = await StartAsync();
        using var client = RawClient.Connect(host.BaseAddress);
        var body = Encoding.UTF8.GetBytes(InferRequests.TextDirection());
        var half = body.Length / 2;
        client.Send($"POST /v2/models/text-direction/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        client.Send(body.AsSpan(0, half));

        // A graceful stop waits for requests Kestrel has dispatched; give the head time to be parsed and handed over.
        await Task.Delay(500);
        var stopping = host.DisposeAsync().AsTask();
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted, "the stop did not wait for the request in flight");

        client.Send(body.AsSpan(half));
        var response = client.ReadResponse();
        Assert.True(response.Status == 200, response.Text);
        Assert.Contains("\"outputs\"", response.Text, StringComparison.Ordinal);

        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(client.ClosedByServer(RawClient.Patience), "the connection stayed open after the stop");
    }
}
