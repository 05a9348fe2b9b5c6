namespace Serverless.Cli.Tests.Fixtures;

/// <summary>
/// Deterministic pseudo-random values (xorshift32) so every run, and the Node reference, sees the same
/// inputs. Hand-rolled rather than System.Random so the sequence can never change under us.
/// </summary>
internal sealed class SeededValues
{
    private uint _state;

    public SeededValues(uint seed)
    {
        _state = seed == 0 ? 0x9E3779B9u : seed;
    }

    public uint NextUInt()
    {
        var x = _state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _state = x;
        return x;
    }

    /// <summary>A float uniformly in [min, max), from 24 random bits so every value is exact in FP32.</summary>
    public float NextFloat(float min, float max) => min + ((NextUInt() >> 8) / 16777216f * (max - min));

    public float[] Floats(int count, float min, float max)
    {
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = NextFloat(min, max);
        }

        return values;
    }
}
