// viewer placeholder
