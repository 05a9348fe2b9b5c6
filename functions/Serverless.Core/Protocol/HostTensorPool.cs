using Serverless.Core.Tensors;

namespace Serverless.Core.Protocol;

/// <summary>
/// Reuses <see cref="HostTensor"/> instances together with their pinned buffers, so that a steady stream of
/// same-sized requests rents nothing: <see cref="HostTensor.Initialize"/> keeps a buffer that is already
/// big enough. Tensors whose buffers are larger than <see cref="MaxRetainedBytes"/> give them back to the
/// <see cref="PinnedBufferPool"/> on return, so one huge request does not pin memory in this pool forever.
/// </summary>
public sealed class HostTensorPool
{
    private readonly HostTensor?[] _items;
    private readonly PinnedBufferPool _buffers;
    private readonly Lock _lock = new();
    private int _count;

    public HostTensorPool(int capacity = 64, PinnedBufferPool? buffers = null, int maxRetainedBytes = 16 * 1024 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _items = new HostTensor?[capacity];
        _buffers = buffers ?? PinnedBufferPool.Shared;
        MaxRetainedBytes = maxRetainedBytes;
    }

    public static HostTensorPool Shared { get; } = new();

    public int MaxRetainedBytes { get; }

    /// <summary>An idle tensor (uninitialized or holding stale data); call <see cref="HostTensor.Initialize"/> before use.</summary>
    public HostTensor Rent()
    {
        lock (_lock)
        {
            if (_count > 0)
            {
                var item = _items[--_count]!;
                _items[_count] = null;
                return item;
            }
        }

        return new HostTensor(_buffers);
    }

    /// <summary>Takes a tensor back; it must not be used by the caller afterwards.</summary>
    public void Return(HostTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.ByteLength > MaxRetainedBytes)
        {
            tensor.Dispose();
        }

        lock (_lock)
        {
            if (_count < _items.Length)
            {
                _items[_count++] = tensor;
                return;
            }
        }

        tensor.Dispose();
    }
}
