using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.Web.Api;

namespace Pipeline.Web.Live;

/// <summary>Reads <c>GET /api/status</c> every <see cref="PipelineApiOptions.StatusInterval"/> for <see cref="PipelineConnection"/>.</summary>
internal sealed partial class StatusPoller(
    IServiceScopeFactory scopes, PipelineConnection connection, IOptions<PipelineApiOptions> options, TimeProvider time, ILogger<StatusPoller> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.StatusInterval, time);
        var failing = false;
        do
        {
            await using var scope = scopes.CreateAsyncScope();
            var api = scope.ServiceProvider.GetRequiredService<PipelineApiClient>();
            try
            {
                connection.StatusRead(await api.GetStatusAsync(stoppingToken));
                if (failing)
                {
                    LogStatusBack(logger);
                    failing = false;
                }
            }
            catch (Exception exception) when (exception is PipelineUnavailableException or PipelineApiException)
            {
                connection.StatusFailed(exception is PipelineUnavailableException ? exception.Message : "The API refused the status request.");
                if (!failing)
                {
                    LogStatusFailed(logger, exception.Message);
                    failing = true;
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The pipeline's status cannot be read: {Reason}")]
    private static partial void LogStatusFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The pipeline's status can be read again.")]
    private static partial void LogStatusBack(ILogger logger);
}
