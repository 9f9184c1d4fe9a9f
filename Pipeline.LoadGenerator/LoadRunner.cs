using System.Diagnostics;

namespace Pipeline.LoadGenerator;

/// <summary>
/// Sends the run's events with bounded concurrency at the target rate until the count or
/// the duration is reached, retrying what the API answered 429/503 (or did not answer) with
/// the same ids, and records every accepted event in the <see cref="Truth"/>. A request the API
/// held back whole (429, 503 backlog-full) is waited out, for up to <c>--max-wait</c>, without
/// using up its attempts. A request still held back after that ends the run: the pipeline is not
/// keeping up, and waiting out every later request as long would make a run of N requests last
/// N times <c>--max-wait</c> (the requests not sent are counted in <see cref="LoadStatistics.HeldBackPastMaxWait"/>).
/// Once the run stops (that, its duration, or its caller), a request the API is holding back is
/// given up rather than waited out: nothing of it is in Kafka.
/// </summary>
internal sealed class LoadRunner(LoadOptions options, IngestClient client, EventSource events, Truth truth, LoadStatistics statistics, TimeProvider time)
{
    private long _batchesClaimed;
    private CancellationTokenSource? _stop;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _stop = stop;
        if (options.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        var workers = Enumerable.Range(0, options.Concurrency)
            .Select(_ => Task.Run(() => SendUntilDoneAsync(stopwatch, stop.Token), CancellationToken.None));
        await Task.WhenAll(workers);
    }

    private async Task SendUntilDoneAsync(Stopwatch stopwatch, CancellationToken stop)
    {
        var secondsPerBatch = options.Rate > 0 ? options.BatchSize / options.Rate : 0;
        while (!stop.IsCancellationRequested)
        {
            var slot = Interlocked.Increment(ref _batchesClaimed) - 1;
            var size = BatchSizeOf(slot);
            if (size <= 0)
            {
                return;
            }

            if (secondsPerBatch > 0)
            {
                var due = TimeSpan.FromSeconds(slot * secondsPerBatch) - stopwatch.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(due, time, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }

            var batch = Enumerable.Range(0, size).Select(_ => events.Next()).ToList();
            await SendWithRetriesAsync(batch);
        }
    }

    // The last batch may be short so that exactly --count events are sent.
    private int BatchSizeOf(long slot)
    {
        if (options.Count is not { } count)
        {
            return options.BatchSize;
        }

        return (int)Math.Min(options.BatchSize, count - (slot * options.BatchSize));
    }

    private async Task SendWithRetriesAsync(List<GeneratedEvent> batch)
    {
        var heldBackFor = TimeSpan.Zero;
        for (var attempt = 1; ; attempt++)
        {
            // A request that has started is finished even when the run is stopping, so that
            // every event ends up either accepted, rejected or marked uncertain.
            var outcome = await client.SendAsync(batch, CancellationToken.None);
            statistics.Record(outcome, batch.Count);
            if (IngestClient.Accepted(outcome.Status))
            {
                batch.ForEach(truth.Accept);
                return;
            }

            if (!IngestClient.Retryable(outcome.Status))
            {
                return; // rejected: nothing of it is in Kafka
            }

            if (IngestClient.HeldBack(outcome))
            {
                if (heldBackFor >= options.MaxWait)
                {
                    // Still held back: nothing of it is in Kafka, and no later request is sent.
                    statistics.GaveUpHeldBack(batch.Count, outcome);
                    await _stop!.CancelAsync();
                    return;
                }

                var wait = outcome.RetryAfter ?? TimeSpan.FromSeconds(1);
                heldBackFor += wait;
                attempt--;
                try
                {
                    await Task.Delay(wait < TimeSpan.FromSeconds(10) ? wait : TimeSpan.FromSeconds(10), time, _stop!.Token);
                }
                catch (OperationCanceledException)
                {
                    return; // the run is stopping: this request was held back whole, nothing of it is in Kafka
                }

                continue;
            }

            if (attempt >= options.MaxAttempts)
            {
                // 503 may mean part of a batch was acknowledged, and no answer means anything.
                batch.ForEach(truth.Uncertain);
                return;
            }

            var backoff = outcome.RetryAfter ?? TimeSpan.FromMilliseconds(200 * attempt);
            await Task.Delay(backoff < TimeSpan.FromSeconds(10) ? backoff : TimeSpan.FromSeconds(10), time);
        }
    }
}
