using System.Reflection;
using System.Reflection.Emit;

namespace Hermod.Policy.Tests.Architecture;

/// <summary>
/// Which namespace of an assembly uses which, read from the compiled code: for every type (lambdas, iterators and async
/// state machines count as the type that holds them), the types in its signatures — base type, interfaces, fields,
/// properties, parameters, return and local types, generic arguments — and every type, method and field its IL names.
/// What a using directive hides (a parent namespace, a fully qualified name) is found all the same.
/// </summary>
public sealed class NamespaceGraph
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private readonly string _root;

    /// <summary>namespace → the namespaces it uses → one example use ("A uses B").</summary>
    public Dictionary<string, Dictionary<string, string>> Edges { get; } = new(StringComparer.Ordinal);

    /// <param name="root">Only namespaces under this one count, e.g. "Hermod.Policy".</param>
    public NamespaceGraph(Assembly assembly, string root)
    {
        _root = root;
        foreach (var type in assembly.GetTypes())
            if (Owner(type) is { } from)
                foreach (var used in Uses(type))
                    if (Owner(used) is { } to && to != from)
                    {
                        var outgoing = Edges.TryGetValue(from, out var e) ? e : Edges[from] = new(StringComparer.Ordinal);
                        outgoing.TryAdd(to, $"{Outermost(type).FullName} uses {Outermost(used).FullName}");
                    }
    }

    /// <summary>The namespaces that depend on each other in a circle (strongly connected components of two or more), each with the uses that close it.</summary>
    public IReadOnlyList<string> Cycles()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>();
        var next = 0;

        void Visit(string node)
        {
            index[node] = low[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var to in Edges.GetValueOrDefault(node)?.Keys ?? Enumerable.Empty<string>())
                if (!index.TryGetValue(to, out var seen))
                {
                    Visit(to);
                    low[node] = Math.Min(low[node], low[to]);
                }
                else if (onStack.Contains(to))
                    low[node] = Math.Min(low[node], seen);
            if (low[node] != index[node])
                return;
            var component = new List<string>();
            string member;
            do
            {
                member = stack.Pop();
                onStack.Remove(member);
                component.Add(member);
            }
            while (member != node);
            if (component.Count < 2)
                return;
            var uses = component.SelectMany(a => Edges[a].Where(e => component.Contains(e.Key)).Select(e => $"  {a} -> {e.Key}: {e.Value}"));
            result.Add($"{string.Join(" <-> ", component.Order(StringComparer.Ordinal))}\n{string.Join("\n", uses.Order(StringComparer.Ordinal))}");
        }

        foreach (var node in Edges.Keys.ToList())
            if (!index.ContainsKey(node))
                Visit(node);
        return result;
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
            type = outer;
        return type;
    }

    /// <summary>The namespace a type's code belongs to (a nested type's is its outermost type's); null outside the root.</summary>
    private string? Owner(Type type)
    {
        while (type.HasElementType)
            type = type.GetElementType()!;
        if (type.IsGenericParameter)
            return null;
        var ns = Outermost(type).Namespace;
        return ns is not null && (ns == _root || ns.StartsWith(_root + ".", StringComparison.Ordinal)) ? ns : null;
    }

    private static HashSet<Type> Uses(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || !found.Add(t))
                return;
            if (t.HasElementType)
                Add(t.GetElementType());
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
                foreach (var argument in t.GetGenericArguments())
                    Add(argument);
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces())
            Add(i);
        foreach (var field in type.GetFields(Declared))
            Add(field.FieldType);
        foreach (var property in type.GetProperties(Declared))
            Add(property.PropertyType);
        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (method is MethodInfo m)
                Add(m.ReturnType);
            foreach (var parameter in method.GetParameters())
                Add(parameter.ParameterType);
            if (method.GetMethodBody() is not { } body)
                continue;
            foreach (var local in body.LocalVariables)
                Add(local.LocalType);
            foreach (var member in Operands(method, body.GetILAsByteArray() ?? []))
                switch (member)
                {
                    case Type t:
                        Add(t);
                        break;
                    case MethodBase called:
                        Add(called.DeclaringType);
                        if (called is MethodInfo info)
                            Add(info.ReturnType);
                        break;
                    case FieldInfo f:
                        Add(f.DeclaringType);
                        Add(f.FieldType);
                        break;
                }
        }
        return found;
    }

    /// <summary>The types, methods and fields a method body's instructions name.</summary>
    private static IEnumerable<MemberInfo> Operands(MethodBase method, byte[] il)
    {
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var at = 0;
        while (at < il.Length)
        {
            short value = il[at++];
            if (value == 0xFE)
                value = unchecked((short)(0xFE00 | il[at++]));
            var code = OpCodesByValue[value];
            var size = code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
                _ => 4,
            };
            if (code.OperandType is OperandType.InlineType or OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineTok)
            {
                MemberInfo? member = null;
                try
                {
                    member = method.Module.ResolveMember(BitConverter.ToInt32(il, at), typeArguments, methodArguments);
                }
                catch (ArgumentException)
                {
                    // a token the module cannot resolve in this generic context: nothing of ours is lost that a signature does not show
                }
                if (member is not null)
                    yield return member;
            }
            at += size;
        }
    }
}
