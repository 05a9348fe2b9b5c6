namespace Serverless.Bench.BindingProbe;

/// <summary>One binding's session over text-direction, with the request path a server would take.</summary>
internal interface IBindingProbe : IDisposable
{
    /// <summary>Copies <paramref name="input"/> into the request's tensor, runs, and returns the first output element.</summary>
    float Request(float[] input);
}

/// <summary>The seeded text-direction input [1,3,48,192] both bindings receive.</summary>
internal static class ProbeInput
{
    public static readonly long[] Shape = [1, 3, 48, 192];

    public static float[] TextDirection()
    {
        var data = new float[3 * 48 * 192];
        var state = 11u;
        for (var i = 0; i < data.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            data[i] = -1 + ((state >> 8) / 16777216f * 2);
        }

        return data;
    }
}
