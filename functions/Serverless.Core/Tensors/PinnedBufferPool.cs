using System.Collections.Concurrent;
using System.Numerics;

namespace Serverless.Core.Tensors;

/// <summary>
/// A pool of byte arrays allocated on the pinned object heap, in power-of-two size classes. Native code
/// (ONNX Runtime) can read a rented array by address for as long as it is rented, with no GCHandle and no
/// copy, because pinned-heap arrays never move. Arrays are never freed once allocated; the pool keeps at
/// most <see cref="MaxPerBucket"/> idle arrays per size class so a traffic spike does not pin memory forever.
/// </summary>
public sealed class PinnedBufferPool
{
    private const int MinBucketBits = 6; // 64 bytes
    private const int MaxBucketBits = 31;
    private const int MaxPerBucket = 16;

    private readonly ConcurrentStack<byte[]>[] _buckets;

    public static PinnedBufferPool Shared { get; } = new();

    public PinnedBufferPool()
    {
        _buckets = new ConcurrentStack<byte[]>[MaxBucketBits - MinBucketBits + 1];
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = new ConcurrentStack<byte[]>();
        }
    }

    /// <summary>Rents a pinned array of at least <paramref name="minimumLength"/> bytes. Contents are not cleared.</summary>
    public byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        var bucket = BucketIndex(minimumLength);
        if (_buckets[bucket].TryPop(out var array))
        {
            return array;
        }

        var size = bucket + MinBucketBits >= 31 ? Array.MaxLength : 1 << (bucket + MinBucketBits);
        return GC.AllocateUninitializedArray<byte>(size, pinned: true);
    }

    /// <summary>Returns an array rented from this pool. Arrays of other origins are ignored.</summary>
    public void Return(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (!BitOperations.IsPow2(array.Length) || array.Length < (1 << MinBucketBits))
        {
            return;
        }

        var bucket = BucketIndex(array.Length);
        if (_buckets[bucket].Count < MaxPerBucket)
        {
            _buckets[bucket].Push(array);
        }
    }

    private static int BucketIndex(int length)
    {
        if (length <= 1 << MinBucketBits)
        {
            return 0;
        }

        var bits = 32 - BitOperations.LeadingZeroCount((uint)(length - 1));
        return Math.Min(bits, MaxBucketBits) - MinBucketBits;
    }
}
