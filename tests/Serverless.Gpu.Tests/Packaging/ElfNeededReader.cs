using System.Buffers.Binary;
using System.Text;

namespace Serverless.Gpu.Tests.Packaging;

/// <summary>
/// Reads the NEEDED entries of a 64-bit little-endian ELF shared library (what <c>readelf -d</c> lists as
/// "Shared library: [...]"): the dynamic section's DT_NEEDED values are offsets into the string table its
/// section header links to. Enough for the x86-64 ONNX Runtime providers; anything else is refused by name.
/// </summary>
internal static class ElfNeededReader
{
    private const uint SectionTypeDynamic = 6;
    private const long TagNull = 0;
    private const long TagNeeded = 1;

    public static IReadOnlyList<string> Read(string path)
    {
        using var file = File.OpenRead(path);
        if (file.Length < 64)
        {
            throw new InvalidDataException($"'{path}' is not an ELF file ({file.Length} bytes).");
        }

        var header = ReadAt(file, 0, 64);
        if (header[0] != 0x7F || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
        {
            throw new InvalidDataException($"'{path}' is not an ELF file.");
        }

        if (header[4] != 2 || header[5] != 1)
        {
            throw new InvalidDataException($"'{path}' is not a 64-bit little-endian ELF file (class {header[4]}, data {header[5]}).");
        }

        var sectionOffset = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x28)));
        var sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3A));
        var sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3C));
        var sections = ReadAt(file, sectionOffset, sectionSize * sectionCount);
        for (var i = 0; i < sectionCount; i++)
        {
            var section = sections.AsSpan(i * sectionSize, sectionSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(section[4..]) != SectionTypeDynamic)
            {
                continue;
            }

            var dynamic = ReadAt(file, (long)BinaryPrimitives.ReadUInt64LittleEndian(section[0x18..]), checked((int)BinaryPrimitives.ReadUInt64LittleEndian(section[0x20..])));
            var link = (int)BinaryPrimitives.ReadUInt32LittleEndian(section[0x28..]);
            var strings = sections.AsSpan(link * sectionSize, sectionSize);
            var table = ReadAt(file, (long)BinaryPrimitives.ReadUInt64LittleEndian(strings[0x18..]), checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strings[0x20..])));
            var needed = new List<string>();
            for (var at = 0; at + 16 <= dynamic.Length; at += 16)
            {
                var tag = BinaryPrimitives.ReadInt64LittleEndian(dynamic.AsSpan(at));
                if (tag == TagNull)
                {
                    break;
                }

                if (tag == TagNeeded)
                {
                    var start = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(dynamic.AsSpan(at + 8)));
                    var end = Array.IndexOf(table, (byte)0, start);
                    needed.Add(Encoding.ASCII.GetString(table, start, end - start));
                }
            }

            return needed;
        }

        throw new InvalidDataException($"'{path}' has no dynamic section, so it links no shared libraries.");
    }

    private static byte[] ReadAt(FileStream file, long offset, int count)
    {
        var buffer = new byte[count];
        file.Position = offset;
        file.ReadExactly(buffer);
        return buffer;
    }
}
