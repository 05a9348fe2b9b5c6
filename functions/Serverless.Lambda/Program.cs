namespace Serverless.Lambda;

internal static class Program
{
    private static Task<int> Main() => Task.FromResult(0);
}
