using Microsoft.AspNetCore.Components;
using Pipeline.Contracts;

namespace Pipeline.Web.Components.Panels;

/// <summary>
/// A panel fed from background threads: <see cref="RequestRender"/> may be called for every change
/// (a thousand a second under load), and renders at most once per <see cref="RenderInterval"/>.
/// </summary>
public abstract class LivePanel : ComponentBase, IDisposable
{
    protected static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(250);

    private int _renderPending;
    private bool _disposed;

    /// <summary>Asks for a render soon; calls within <see cref="RenderInterval"/> of each other share one.</summary>
    protected void RequestRender()
    {
        if (_disposed || Interlocked.Exchange(ref _renderPending, 1) == 1)
        {
            return;
        }

        _ = RenderSoonAsync();
    }

    public void Dispose()
    {
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    private async Task RenderSoonAsync()
    {
        await Task.Delay(RenderInterval);
        Volatile.Write(ref _renderPending, 0);
        if (!_disposed)
        {
            try
            {
                await InvokeAsync(StateHasChanged);
            }
            catch (ObjectDisposedException)
            {
                // The circuit closed meanwhile.
            }
        }
    }
}
