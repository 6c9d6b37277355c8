namespace Mesh.Client.Ui;

/// <summary>The last <see cref="Capacity"/> items added, oldest first: the history behind the page's charts, in fixed memory.</summary>
public sealed class SeriesRing<T>
{
    private readonly T[] _items;
    private int _next;

    public SeriesRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _items = new T[capacity];
    }

    public int Capacity => _items.Length;

    public int Count { get; private set; }

    public void Add(T item)
    {
        _items[_next] = item;
        _next = (_next + 1) % _items.Length;
        Count = Math.Min(Count + 1, _items.Length);
    }

    /// <summary>The newest item; default when empty.</summary>
    public T? Latest => Count == 0 ? default : _items[(_next - 1 + _items.Length) % _items.Length];

    /// <summary>A copy, oldest first.</summary>
    public IReadOnlyList<T> ToList()
    {
        var list = new List<T>(Count);
        var start = (_next - Count + _items.Length) % _items.Length;
        for (var i = 0; i < Count; i++) list.Add(_items[(start + i) % _items.Length]);
        return list;
    }
}
