public enum TelsaPlaceholder {}
