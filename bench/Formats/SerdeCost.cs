// Where one Avro event's write and read go: Confluent's AvroSerializer/AvroDeserializer called
// synchronously as the pipeline calls its format (the path before 2026-12-01), the same serializer
// awaited with calls in flight, Apache.Avro alone, and the record format as it is now. Per call:
// wall time, CPU time of the whole process, thread-pool work items, bytes allocated.
using System.Diagnostics;
using Avro.IO;
using Avro.Specific;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;
using AvroEvent = Pipeline.Avro.PipelineEvent;

namespace Pipeline.Bench.Formats;

internal static class SerdeCost
{
    public static void Print(ISchemaRegistryClient registry, PipelineRecordFormat format, List<PipelineEvent> events)
    {
        var context = new SerializationContext(MessageComponentType.Value, Topics.Events);
        var serializer = new AvroSerializer<AvroEvent>(registry, new AvroSerializerConfig { AutoRegisterSchemas = true, SubjectNameStrategy = SubjectNameStrategy.Topic });
        var deserializer = new AvroDeserializer<AvroEvent>(registry, new AvroDeserializerConfig { SubjectNameStrategy = SubjectNameStrategy.Topic });
        var records = events.Take(20_000).Select(e => new AvroEvent { Id = e.Id, Key = e.Key, Value = e.Value, Timestamp = e.Timestamp.UtcDateTime }).ToArray();
        var sample = events.Take(records.Length).ToArray();
        var schema = records[0].Schema;
        var writer = new SpecificDatumWriter<AvroEvent>(schema);
        var reader = new SpecificDatumReader<AvroEvent>(schema, schema);
        var written = records.Select(r => serializer.SerializeAsync(r, context).GetAwaiter().GetResult()).ToArray();
        _ = deserializer.DeserializeAsync(written[0], isNull: false, context).GetAwaiter().GetResult();

        Console.WriteLine("where an Avro event's time goes, per call:");
        Measure("Confluent AvroSerializer, waited (before)", records.Length, () =>
        {
            foreach (var record in records)
            {
                _ = serializer.SerializeAsync(record, context).GetAwaiter().GetResult();
            }
        });
        Measure("Confluent AvroSerializer, awaited, 64 in flight", records.Length, () =>
        {
            foreach (var chunk in records.Chunk(64))
            {
                _ = Task.WhenAll(chunk.Select(record => serializer.SerializeAsync(record, context))).GetAwaiter().GetResult();
            }
        });
        Measure("Confluent AvroDeserializer, waited (before)", records.Length, () =>
        {
            foreach (var value in written)
            {
                _ = deserializer.DeserializeAsync(value, isNull: false, context).GetAwaiter().GetResult();
            }
        });
        Measure("Task.ContinueWith on a completed task, waited", records.Length, () =>
        {
            for (var i = 0; i < records.Length; i++)
            {
                _ = Task.FromResult(i).ContinueWith(task => task.Result, TaskScheduler.Default).GetAwaiter().GetResult();
            }
        });
        Measure("Apache.Avro SpecificDatumWriter + framing", records.Length, () =>
        {
            foreach (var record in records)
            {
                using var stream = new MemoryStream(128);
                stream.Write(written[0].AsSpan(0, 5));
                writer.Write(record, new BinaryEncoder(stream));
                _ = stream.ToArray();
            }
        });
        Measure("Apache.Avro SpecificDatumReader", records.Length, () =>
        {
            foreach (var value in written)
            {
                using var stream = new MemoryStream(value, 5, value.Length - 5, writable: false);
                _ = reader.Read(new AvroEvent(), new BinaryDecoder(stream));
            }
        });
        Measure("AvroRecordFormat.WriteEvent (now)", sample.Length, () =>
        {
            foreach (var pipelineEvent in sample)
            {
                _ = format.WriteEvent(pipelineEvent);
            }
        });
        Measure("AvroRecordFormat.ReadEvent (now)", written.Length, () =>
        {
            foreach (var value in written)
            {
                _ = format.ReadEvent(value);
            }
        });
    }

    private static void Measure(string what, int calls, Action run)
    {
        GC.Collect();
        var items = ThreadPool.CompletedWorkItemCount;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        run();
        clock.Stop();
        var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Console.WriteLine($"  {what,-50} {clock.Elapsed.TotalMicroseconds / calls,6:F2} µs wall, {cpuUsed.TotalMicroseconds / calls,6:F2} µs CPU, " +
            $"{(ThreadPool.CompletedWorkItemCount - items) / (double)calls,4:F2} thread-pool items, {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / calls,5} B allocated");
    }
}
