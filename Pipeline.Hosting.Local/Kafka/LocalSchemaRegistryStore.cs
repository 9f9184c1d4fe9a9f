using Avro;

namespace Pipeline.Hosting.Local.Kafka;

/// <summary>A schema as a client sent it, parsed, with the canonical text two equal schemas share.</summary>
internal sealed record ParsedSchema(string Text, string Canonical, Schema Parsed)
{
    public static ParsedSchema Parse(string text)
    {
        var parsed = Schema.Parse(text);
        return new ParsedSchema(text, parsed.ToString(), parsed);
    }
}

/// <summary>A registered schema: its global id, shared by every subject that registers the same schema.</summary>
internal sealed record StoredSchema(int Id, string Text, string Canonical, Schema Parsed);

/// <summary>One version of a subject.</summary>
internal sealed record StoredVersion(int Version, StoredSchema Schema);

/// <summary>What registering answers: the id, or why the schema was refused.</summary>
internal readonly record struct Registration(int Id, string? Incompatibility);

/// <summary>The local registry's schemas and subjects, in memory, guarded by one lock (registrations are rare).</summary>
internal sealed class LocalSchemaStore
{
    /// <summary>The one compatibility level of every subject.</summary>
    public const string Compatibility = "BACKWARD";

    private readonly Lock _lock = new();
    private readonly List<StoredSchema> _schemas = [];
    private readonly Dictionary<string, List<StoredVersion>> _subjects = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Subjects()
    {
        lock (_lock)
        {
            return [.. _subjects.Keys.Order(StringComparer.Ordinal)];
        }
    }

    public IReadOnlyList<int>? Versions(string subject)
    {
        lock (_lock)
        {
            return _subjects.TryGetValue(subject, out var versions) ? [.. versions.Select(version => version.Version)] : null;
        }
    }

    public StoredVersion? Version(string subject, string version)
    {
        lock (_lock)
        {
            if (!_subjects.TryGetValue(subject, out var versions) || versions.Count == 0)
            {
                return null;
            }

            return version is "latest" or "-1" ? versions[^1]
                : int.TryParse(version, out var number) ? versions.Find(stored => stored.Version == number)
                : null;
        }
    }

    public StoredSchema? ById(int id)
    {
        lock (_lock)
        {
            return id >= 1 && id <= _schemas.Count ? _schemas[id - 1] : null;
        }
    }

    public StoredVersion? Find(string subject, ParsedSchema schema)
    {
        lock (_lock)
        {
            return _subjects.TryGetValue(subject, out var versions)
                ? versions.Find(stored => stored.Schema.Canonical == schema.Canonical)
                : null;
        }
    }

    /// <summary>
    /// Registers <paramref name="schema"/> under <paramref name="subject"/>: the same schema again
    /// answers its existing id; a new one must be BACKWARD compatible with the subject's latest
    /// version (it can read what that version wrote), as Confluent's registry checks it by default.
    /// </summary>
    public Registration Register(string subject, ParsedSchema schema)
    {
        lock (_lock)
        {
            var versions = _subjects.TryGetValue(subject, out var existing) ? existing : null;
            if (versions?.Find(stored => stored.Schema.Canonical == schema.Canonical) is { } known)
            {
                return new Registration(known.Schema.Id, null);
            }

            if (versions is { Count: > 0 })
            {
                var latest = versions[^1];
                var problems = LocalSchemaCompatibility.Backward(schema.Parsed, latest.Schema.Parsed);
                if (problems.Count > 0)
                {
                    return new Registration(0, $"Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: " +
                        $"[{string.Join(", ", problems)}, {{oldSchemaVersion: {latest.Version}}}, {{oldSchema: '{latest.Schema.Canonical}'}}, {{compatibility: '{Compatibility}'}}]");
                }
            }

            var stored = _schemas.Find(candidate => candidate.Canonical == schema.Canonical);
            if (stored is null)
            {
                stored = new StoredSchema(_schemas.Count + 1, schema.Text, schema.Canonical, schema.Parsed);
                _schemas.Add(stored);
            }

            versions ??= _subjects[subject] = [];
            versions.Add(new StoredVersion(versions.Count == 0 ? 1 : versions[^1].Version + 1, stored));
            return new Registration(stored.Id, null);
        }
    }
}

/// <summary>
/// BACKWARD compatibility as Avro schema resolution defines it: the new schema, as reader, can
/// read data written with the old one. Apache.Avro's <see cref="Schema.CanRead"/> decides; the
/// walk over record fields names what breaks it, in the words Confluent's registry uses.
/// </summary>
internal static class LocalSchemaCompatibility
{
    public static IReadOnlyList<string> Backward(Schema reader, Schema writer)
    {
        var problems = new List<string>();
        Compare(reader, writer, "", problems);
        if (problems.Count == 0 && !reader.CanRead(writer))
        {
            problems.Add(Problem("TYPE_MISMATCH", "/", $"The new schema ({reader.Fullname}) cannot read data written with the old one ({writer.Fullname})"));
        }

        return problems;
    }

    private static void Compare(Schema reader, Schema writer, string path, List<string> problems)
    {
        if (reader is not RecordSchema readerRecord || writer is not RecordSchema writerRecord)
        {
            if (!reader.CanRead(writer))
            {
                problems.Add(Problem("TYPE_MISMATCH", path == "" ? "/" : path,
                    $"The type (path '{(path == "" ? "/" : path)}') of a field in the new schema does not match with the old schema: {reader.Tag} cannot read {writer.Tag}"));
            }

            return;
        }

        if (readerRecord.Fullname != writerRecord.Fullname && !reader.CanRead(writer))
        {
            problems.Add(Problem("NAME_MISMATCH", path == "" ? "/name" : path + "/name",
                $"The name of the schema has changed (path '{(path == "" ? "/name" : path + "/name")}'): {writerRecord.Fullname} became {readerRecord.Fullname}"));
            return;
        }

        foreach (var field in readerRecord.Fields)
        {
            var fieldPath = $"{path}/fields/{field.Pos}";
            var old = writerRecord.Fields.Find(candidate => candidate.Name == field.Name || (field.Aliases?.Contains(candidate.Name) ?? false));
            if (old is null)
            {
                if (field.DefaultValue is null)
                {
                    problems.Add(Problem("READER_FIELD_MISSING_DEFAULT_VALUE", field.Name,
                        $"The field '{field.Name}' at path '{fieldPath}' in the new schema has no default value and is missing in the old schema"));
                }

                continue;
            }

            Compare(field.Schema, old.Schema, fieldPath, problems);
        }
    }

    private static string Problem(string type, string info, string description) =>
        $"{{errorType:'{type}', description:'{description}', additionalInfo:'{info}'}}";
}
